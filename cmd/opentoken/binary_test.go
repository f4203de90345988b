package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/gotool"
)

// The gateway binary, built once for the tests that run it as an operator
// would.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary returns the path of the built gateway.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "opentoken-bin"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "opentoken")
		var out string
		if out, binErr = gotool.Go(t, gotool.ModuleRoot(t), "build", "-buildvcs=auto", "-o", binPath, "./cmd/opentoken"); binErr != nil {
			binErr = &buildError{out}
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

type buildError struct{ out string }

func (e *buildError) Error() string { return e.out }

// run runs the binary to its end with env (and a temporary HOME) and
// returns its exit code, standard output and standard error.
func run(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), out.String(), errOut.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out.String(), errOut.String()
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("opentoken %s did not end: it serves?\n%s", strings.Join(args, " "), errOut.String())
	}
	return
}

// served is a gateway binary serving.
type served struct {
	URL  string // http://host:port
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	done chan error
}

// Log is what the gateway logged so far.
func (s *served) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Stop sends SIGTERM and waits for the exit.
func (s *served) Stop(t *testing.T) {
	t.Helper()
	if s.done == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("the gateway exited with %v\n%s", err, s.Log())
		}
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("the gateway did not exit on SIGTERM")
	}
	s.done = nil
}

// startBinary starts the binary with env on a free port and returns once it
// says where it serves; it is stopped when the test ends.
func startBinary(t *testing.T, env []string) *served {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "OPENTOKEN_ADDR=127.0.0.1:0"}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			s.mu.Lock()
			s.log.WriteString(lines.Text() + "\n")
			s.mu.Unlock()
			if m := regexp.MustCompile(`url=(http://\S+)/v1`).FindStringSubmatch(lines.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		s.done <- cmd.Wait()
		close(urls)
	}()
	t.Cleanup(func() { s.Stop(t) })
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("the gateway ended before serving:\n%s", s.Log())
		}
		s.URL = u
	case <-time.After(30 * time.Second):
		t.Fatalf("the gateway did not say where it serves:\n%s", s.Log())
	}
	return s
}
