package tenancy

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/opentoken/opentoken/store"
)

// spill is an append-only file of usage batches the database could not
// take, one JSON object a line. It is read whole and cleared of what a
// replay wrote; batches appended meanwhile stay.
type spill struct {
	path string
	mu   sync.Mutex
	n    int // batches in the file, -1 when unknown (before the first read)
}

func (s *spill) write(b store.Batch) error {
	if s.path == "" {
		return errors.New("no spill file is configured")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	// A line a crash cut short is ended first, so that it does not run
	// into this one and take it down with it.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], st.Size()-1); err == nil && last[0] != '\n' {
			w.WriteByte('\n')
		}
	}
	if err := json.NewEncoder(w).Encode(&b); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	// On disk before the write is called done: this is the record of
	// answers already given.
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	s.n = max(s.n, 0) + 1
	return f.Close()
}

// pending reports whether the file may hold batches.
func (s *spill) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path != "" && s.n != 0
}

func (s *spill) read() ([]store.Batch, error) {
	if s.path == "" {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	batches, err := readBatches(s.path)
	s.n = len(batches)
	return batches, err
}

func readBatches(path string) ([]store.Batch, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var batches []store.Batch
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var b store.Batch
			if json.Unmarshal(line, &b) == nil && b.ID != "" {
				batches = append(batches, b)
			} // else a line cut by a crash: the rest is still good
		}
		if errors.Is(err, io.EOF) {
			return batches, nil
		}
		if err != nil {
			return batches, err
		}
	}
}

// clear removes the first n batches, those a replay wrote; the file is
// rewritten whole and renamed over the old, so a crash leaves one or the
// other.
func (s *spill) clear(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	batches, err := readBatches(s.path)
	if err != nil {
		return err
	}
	rest := batches[min(n, len(batches)):]
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for i := range rest {
		if err := enc.Encode(&rest[i]); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.n = len(rest)
	return os.Rename(tmp, s.path)
}
