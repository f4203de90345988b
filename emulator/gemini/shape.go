package gemini

import "github.com/opentoken/opentoken/emulator"

// Shorthands for the shape tables below.
var (
	obj  = emulator.Obj
	arr  = emulator.Arr
	leaf = emulator.Leaf
	anyV = emulator.Any
)

var (
	partShape = obj(emulator.Fields{
		"text": leaf, "thought": leaf, "thoughtSignature": leaf,
		"inlineData":   obj(emulator.Fields{"mimeType": leaf, "data": leaf}),
		"fileData":     obj(emulator.Fields{"mimeType": leaf, "fileUri": leaf}),
		"functionCall": anyV, "functionResponse": anyV, "executableCode": anyV,
		"codeExecutionResult": anyV, "videoMetadata": anyV, "partMetadata": anyV,
	})
	contentShape = obj(emulator.Fields{"role": leaf, "parts": arr(partShape)})
	// requestShape is every field GenerateContentRequest takes, in its JSON
	// (lowerCamel) names.
	requestShape = obj(emulator.Fields{
		"model": leaf, "contents": arr(contentShape), "systemInstruction": contentShape,
		"tools": anyV, "toolConfig": anyV, "safetySettings": arr(obj(emulator.Fields{"category": leaf, "threshold": leaf, "method": leaf})),
		"cachedContent": leaf, "labels": anyV,
		"generationConfig": obj(emulator.Fields{
			"temperature": leaf, "topP": leaf, "topK": leaf, "candidateCount": leaf, "maxOutputTokens": leaf,
			"stopSequences": arr(leaf), "presencePenalty": leaf, "frequencyPenalty": leaf, "seed": leaf,
			"responseLogprobs": leaf, "logprobs": leaf, "responseMimeType": leaf, "responseSchema": anyV,
			"responseJsonSchema": anyV, "responseModalities": arr(leaf), "speechConfig": anyV,
			"mediaResolution": leaf, "enableEnhancedCivicAnswers": leaf, "imageConfig": anyV,
			"thinkingConfig": obj(emulator.Fields{"includeThoughts": leaf, "thinkingBudget": leaf, "thinkingLevel": leaf}),
		}),
	})
)
