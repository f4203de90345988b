package llm

// StreamWriter renders an answer, event by event as an upstream streams it,
// in one client dialect's frames, each appended to dst. The adapters call
// it; each door supplies its own. A stream is Start, the pieces in the
// order the model produced them, then End (or Fail), then Close.
type StreamWriter interface {
	// Start opens the stream, with the usage the upstream reported so far
	// (the prompt's, when it reports that first).
	Start(dst []byte, u *Usage) []byte
	// Text is a piece of the answer.
	Text(dst []byte, s string) []byte
	// Reasoning is a piece of the model's reasoning text.
	Reasoning(dst []byte, s string) []byte
	// Detail is a whole piece of signed reasoning a tool loop needs back:
	// a Claude thinking block (its text came before in Reasoning) or a
	// redacted one, or a Gemini thought signature (given before the call
	// it belongs to starts).
	Detail(dst []byte, d ReasoningDetail) []byte
	// ToolStart begins call number index; its arguments follow in
	// ToolArgs. signature is Gemini's thought signature of the call.
	ToolStart(dst []byte, index int, id, name, signature string) []byte
	// ToolArgs is a fragment of call number index's arguments.
	ToolArgs(dst []byte, index int, fragment string) []byte
	// End closes a complete answer with its finish and usage.
	End(dst []byte, finish Finish, stopSequence string, u *Usage) []byte
	// Fail reports a failure after the stream began.
	Fail(dst []byte, e *Error) []byte
	// Close is the last frame, after End or Fail.
	Close(dst []byte) []byte
}
