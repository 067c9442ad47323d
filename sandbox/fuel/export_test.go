package fuel

// InstrumentExact charges every instruction on its own: the reference
// count of executed instructions for calibration tests.
func InstrumentExact(wasm []byte) ([]byte, error) {
	return instrument(wasm, Options{}, meterer{exact: true})
}
