package onnx

// LoadGonnx loads a model that always runs on gonnx, for tests comparing
// the dense path with it.
func LoadGonnx(data []byte) (*Model, error) { return load(data, 2, false) }
