package tenancy

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"sync"

	"github.com/opentoken/opentoken/store"
)

// spill is an append-only file of usage records the database could not
// take, one JSON object a line. It is read whole and cleared of what a
// replay wrote; records appended meanwhile stay.
type spill struct {
	path string
	mu   sync.Mutex
	n    int // records in the file, -1 when unknown (before the first read)
}

func (s *spill) write(recs []store.UsageRecord) error {
	if s.path == "" {
		return errors.New("no spill file is configured")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			f.Close()
			return err
		}
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
	s.n = max(s.n, 0) + len(recs)
	return f.Close()
}

// pending reports whether the file may hold records.
func (s *spill) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path != "" && s.n != 0
}

func (s *spill) read() ([]store.UsageRecord, error) {
	if s.path == "" {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := readRecords(s.path)
	s.n = len(recs)
	return recs, err
}

func readRecords(path string) ([]store.UsageRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []store.UsageRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r store.UsageRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue // a line cut by a crash: the rest is still good
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}

// clear removes the first n records, those a replay wrote; the file is
// rewritten whole and renamed over the old, so a crash leaves one or the
// other.
func (s *spill) clear(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := readRecords(s.path)
	if err != nil {
		return err
	}
	rest := recs[min(n, len(recs)):]
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
