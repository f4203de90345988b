// Package hangup tells when the peers of many TCP connections hang up,
// with one goroutine for them all and no read on any of them.
//
// A gateway must stop paying for an upstream request as soon as its client
// leaves. Reading the client's connection on a goroutine per request would
// notice that too, but costs two goroutine hand-offs per request — about
// 30 µs of latency on a small machine, most of a request's own cost — and
// takes a byte of any pipelined request. Here each watch is instead one
// epoll registration for the peer's hang-up (EPOLLRDHUP), and one removal.
package hangup

// Canceler is what a hang-up cancels.
type Canceler interface{ Cancel(cause error) }
