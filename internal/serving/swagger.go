package serving

import (
	"github.com/kubeml/kubeml/internal/serving/model"
)

// maxExample bounds the size of the example input in the swagger document.
const maxExample = 1 << 14

// swagger returns the OpenAPI 2.0 document of the Azure ML scoring
// endpoints for a model with these inputs and outputs, in the shape Azure
// ML's own scoring servers describe themselves.
func swagger(name, version string, inputs, outputs []model.Spec) []byte {
	if version == "" {
		version = "1"
	}
	errorResponse := map[string]any{
		"description": "The request failed; the error says why.",
		"schema":      map[string]any{"$ref": "#/definitions/ErrorResponse"},
	}
	return toJSON(map[string]any{
		"swagger": "2.0",
		"info": map[string]any{
			"title":       name,
			"description": "API specification for the model " + name + ", served by kubeml.",
			"version":     version,
		},
		"consumes": []string{"application/json"},
		"produces": []string{"application/json"},
		"securityDefinitions": map[string]any{"Bearer": map[string]any{
			"type": "apiKey", "name": "Authorization", "in": "header",
			"description": "For example: Bearer abc123",
		}},
		"paths": map[string]any{
			"/": map[string]any{"get": map[string]any{
				"operationId": "ServiceHealthCheck",
				"description": "Simple health check endpoint to ensure the service is up at any given point.",
				"produces":    []string{"text/plain"},
				"responses": map[string]any{
					"200": map[string]any{
						"description": "The service is up; the body is 'Healthy'.",
						"schema":      map[string]any{"type": "string"},
						"examples":    map[string]any{"text/plain": "Healthy"},
					},
					"default": errorResponse,
				},
			}},
			"/score": map[string]any{"post": map[string]any{
				"operationId": "RunMLService",
				"description": "Run the model and get its prediction.",
				"security":    []any{map[string]any{"Bearer": []string{}}},
				"parameters": []any{map[string]any{
					"name": "serviceInputPayload", "in": "body", "required": true,
					"description": "The input payload for the model.",
					"schema":      map[string]any{"$ref": "#/definitions/ServiceInput"},
				}},
				"responses": map[string]any{
					"200": map[string]any{
						"description": "The model's prediction.",
						"schema":      map[string]any{"$ref": "#/definitions/ServiceOutput"},
					},
					"400":     errorResponse,
					"default": errorResponse,
				},
			}},
		},
		"definitions": map[string]any{
			"ServiceInput":  inputSchema(inputs),
			"ServiceOutput": outputSchema(outputs),
			"ErrorResponse": map[string]any{
				"type":       "object",
				"properties": map[string]any{"error": map[string]any{"type": "string"}},
			},
		},
	})
}

// inputSchema describes the /score body: {"data": X} for one input,
// {"input_data": {"<name>": X, ...}} for several.
func inputSchema(inputs []model.Spec) map[string]any {
	if len(inputs) == 1 {
		s := object(map[string]any{"data": arraySchema(inputs[0])}, []string{"data"})
		if ex, ok := example(inputs[0]); ok {
			s["example"] = map[string]any{"data": ex}
		}
		return s
	}
	props, names, examples := map[string]any{}, []string{}, map[string]any{}
	fits := true
	for _, in := range inputs {
		props[in.Name] = arraySchema(in)
		names = append(names, in.Name)
		ex, ok := example(in)
		examples[in.Name], fits = ex, fits && ok
	}
	s := object(map[string]any{"input_data": object(props, names)}, []string{"input_data"})
	if fits {
		s["example"] = map[string]any{"input_data": examples}
	}
	return s
}

// outputSchema describes the /score reply: the single output's array, or
// an object of the outputs.
func outputSchema(outputs []model.Spec) map[string]any {
	if len(outputs) == 1 {
		return arraySchema(outputs[0])
	}
	props, names := map[string]any{}, []string{}
	for _, out := range outputs {
		props[out.Name] = arraySchema(out)
		names = append(names, out.Name)
	}
	return object(props, names)
}

func object(props map[string]any, required []string) map[string]any {
	return map[string]any{"type": "object", "properties": props, "required": required}
}

// arraySchema describes a tensor as nested arrays, fixed dimensions with
// their sizes.
func arraySchema(sp model.Spec) map[string]any {
	s := itemSchema(sp.DataType)
	shape := sp.Shape
	if len(shape) == 0 {
		shape = []int64{-1}
	}
	for i := len(shape) - 1; i >= 0; i-- {
		s = map[string]any{"type": "array", "items": s}
		if shape[i] >= 0 {
			s["minItems"], s["maxItems"] = shape[i], shape[i]
		}
	}
	return s
}

func itemSchema(dt model.DataType) map[string]any {
	switch dt {
	case model.FP64:
		return map[string]any{"type": "number", "format": "double"}
	case model.INT64:
		return map[string]any{"type": "integer", "format": "int64"}
	case model.INT32:
		return map[string]any{"type": "integer", "format": "int32"}
	case model.BOOL:
		return map[string]any{"type": "boolean"}
	}
	return map[string]any{"type": "number", "format": "float"}
}

// example is one zero row of the input, nested as its shape; false if it
// would be too large.
func example(sp model.Spec) (any, bool) {
	shape := sp.Shape
	if len(shape) == 0 {
		shape = []int64{1}
	}
	n := int64(1)
	for _, d := range shape {
		d = max(d, 1)
		if d > maxExample || n*d > maxExample {
			return nil, false
		}
		n *= d
	}
	var zero any = 0
	if sp.DataType == model.BOOL {
		zero = false
	}
	return nested(shape, zero), true
}

func nested(shape []int64, zero any) any {
	if len(shape) == 0 {
		return zero
	}
	row := make([]any, max(shape[0], 1))
	for i := range row {
		row[i] = nested(shape[1:], zero)
	}
	return row
}
