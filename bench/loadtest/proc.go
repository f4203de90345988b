package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Process is a target started by the harness, measured through /proc.
type Process struct {
	cmd       *exec.Cmd
	ColdStart time.Duration // from exec to the first successful answer
	dir       string        // the process's own data directory, removed by Stop
	// Remove are more paths Stop removes: what was made for the process.
	Remove []string
}

// Start runs name with args and env, and waits until ready(), which sends
// a real request, succeeds; it gives up after timeout. The process dies with
// the harness even if the harness is killed (Pdeathsig).
func Start(name string, args, env []string, ready func() error, timeout time.Duration) (*Process, error) {
	// Each process keeps its data (the gateway's tenancy database) in a
	// directory of its own, never the user's.
	dir, err := os.MkdirTemp("", "opentoken-harness-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(append(os.Environ(), "XDG_DATA_HOME="+dir), env...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Stdout, cmd.Stderr = nil, nil
	start := time.Now()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &Process{cmd: cmd, dir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if err := ready(); err == nil {
			p.ColdStart = time.Since(start)
			return p, nil
		} else if ctx.Err() != nil {
			p.Stop()
			return nil, fmt.Errorf("%s not ready after %v: %v", filepath.Base(name), timeout, err)
		}
		time.Sleep(200 * time.Microsecond) // polling a starting process: nothing to wait on instead
	}
}

// Stop kills the process and its children and reaps it.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	for _, pid := range p.tree() {
		if proc, err := os.FindProcess(pid); err == nil {
			_ = proc.Kill()
		}
	}
	_ = p.cmd.Wait()
	_ = os.RemoveAll(p.dir)
	for _, path := range p.Remove {
		_ = os.RemoveAll(path)
	}
}

// Pid is the process's id, for readings of /proc/<pid>.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// CPU is the user+system CPU time of the process and its descendants.
func (p *Process) CPU() time.Duration {
	if p == nil {
		return 0
	}
	var ticks int64
	for _, pid := range p.tree() {
		f := statFields(pid)
		if len(f) > 14 {
			u, _ := strconv.ParseInt(f[13], 10, 64)
			s, _ := strconv.ParseInt(f[14], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}

// PeakRSS is the summed high-water resident set of the process tree, bytes.
func (p *Process) PeakRSS() int64 {
	return p.status("VmHWM:")[0]
}

// Resident is what the process tree's resident set is made of now, in
// bytes: anonymous memory (heaps, stacks) and the pages of the files it
// maps (its executable's code and data, as much of them as was touched).
func (p *Process) Resident() (anon, file int64) {
	sums := p.status("RssAnon:", "RssFile:")
	return sums[0], sums[1]
}

// status sums the memory fields of /proc/<pid>/status over the process
// tree, in bytes, one sum per field named.
func (p *Process) status(fields ...string) []int64 {
	sums := make([]int64, len(fields))
	if p == nil {
		return sums
	}
	for _, pid := range p.tree() {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			for i, field := range fields {
				if v, ok := strings.CutPrefix(sc.Text(), field); ok {
					kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
					sums[i] += kb << 10
				}
			}
		}
		f.Close()
	}
	return sums
}

// tree lists the process and its descendants (npx starts node as a child).
func (p *Process) tree() []int {
	root := p.cmd.Process.Pid
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(pid); len(f) > 3 {
			parent[pid], _ = strconv.Atoi(f[3])
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		for pid, pp := range parent {
			if pp == out[i] {
				out = append(out, pid)
			}
		}
	}
	return out
}

// statFields splits /proc/pid/stat after the command name, whose parentheses
// may hold spaces; fields are numbered as in proc(5) minus one.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return append([]string{"pid", "comm"}, strings.Fields(s[i+1:])...)
}

// FreeAddr returns a loopback address that was free a moment ago, for a
// child process to listen on.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
