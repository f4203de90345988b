package loadtest

import "syscall"

// sysProcAttr makes a started target die with the harness.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
