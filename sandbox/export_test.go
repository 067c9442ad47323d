package sandbox

// InspectMemory makes the engine hand each instance's linear memory to fn
// when the instance frees it.
func (e *Engine) InspectMemory(fn func(memory []byte)) { e.inspectMemory = fn }

// OnAdmit makes the engine call fn each time a call is admitted.
func (e *Engine) OnAdmit(fn func()) { e.onAdmit = fn }

// HoldCompiles takes every background compile slot until the returned
// function is called, so a test knows a module is still interpreted.
func (e *Engine) HoldCompiles() func() {
	for range cap(e.tiers.slots) {
		e.tiers.slots <- struct{}{}
	}
	return func() {
		for range cap(e.tiers.slots) {
			<-e.tiers.slots
		}
	}
}

// The recording limits (record.go), for the tests that cross them.
const (
	InitRecordLimit = initRecordLimit
	MaxDivergences  = maxDivergences
)
