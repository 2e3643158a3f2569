package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// child is a process of the harness: the program re-executed in a role.
type child struct {
	role string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	done chan struct{} // closed when the process has been waited for
}

// startChild starts a child and waits for it to say it is ready.
func startChild(s childSpec) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	spec, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envChild+"="+string(spec))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{role: s.Role, cmd: cmd, in: in, out: bufio.NewReader(out), done: make(chan struct{})}
	go func() { cmd.Wait(); close(c.done) }()
	line, err := c.out.ReadString('\n')
	if err != nil || line != "ready\n" {
		c.stop()
		return nil, fmt.Errorf("%s did not start: %q %v", s.Role, line, err)
	}
	return c, nil
}

// read decodes the child's next output line into v.
func (c *child) read(v any) error {
	line, err := c.out.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("%s: %w", c.role, err)
	}
	return json.Unmarshal(line, v)
}

// call sends a command to a consumer and returns its result.
func (c *child) call(cmd command) (result, error) {
	var r result
	b, err := json.Marshal(cmd)
	if err != nil {
		return r, err
	}
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return r, fmt.Errorf("%s: %w", c.role, err)
	}
	if err := c.read(&r); err != nil {
		return r, err
	}
	if r.Err != "" {
		return r, fmt.Errorf("%s %s %s: %s", cmd.Op, cmd.Transport, cmd.Table, r.Err)
	}
	return r, nil
}

// stop ends the child: consumers when their stdin closes, the provider on
// SIGTERM; one that does not end within 10 seconds is killed.
func (c *child) stop() {
	c.in.Close()
	if c.role == roleProvider {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// check verifies that a scan read the expected rows and values.
func check(r result, rows int64, sum float64) error {
	if r.Err != "" {
		return fmt.Errorf("%s", r.Err)
	}
	if r.Rows != rows || r.Sum != sum {
		return fmt.Errorf("read %d rows, checksum %v; want %d rows, checksum %v", r.Rows, r.Sum, rows, sum)
	}
	return nil
}
