package sandbox

// InspectMemory makes the engine hand each instance's linear memory to fn
// when the instance frees it.
func (e *Engine) InspectMemory(fn func(memory []byte)) { e.inspectMemory = fn }
