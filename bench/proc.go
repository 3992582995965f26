package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// children are the processes the suite started; killAll ends every one still running.
type children struct {
	mu  sync.Mutex
	m   map[int]*exec.Cmd
	all []int // every child ever started
}

func newChildren() *children { return &children{m: map[int]*exec.Cmd{}} }

func (c *children) add(cmd *exec.Cmd) {
	c.mu.Lock()
	c.m[cmd.Process.Pid] = cmd
	c.all = append(c.all, cmd.Process.Pid)
	c.mu.Unlock()
}

// started returns the PIDs of every child started so far.
func (c *children) started() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.all...)
}

func (c *children) remove(pid int) {
	c.mu.Lock()
	delete(c.m, pid)
	c.mu.Unlock()
}

// killAll kills every child still running, with its process group.
func (c *children) killAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for pid, cmd := range c.m {
		killGroup(cmd.Process)
		_ = cmd.Process.Kill()
		delete(c.m, pid)
	}
}

// proc is a running child server.
type proc struct {
	name string
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	pid  int
	// started is taken just before exec, for the cold-start time.
	started time.Time
	done    chan struct{} // closed when the process has exited
	err     error         // its exit status, once done is closed
	log     string        // file holding its stderr and stdout
	kids    *children
}

// freeAddr returns a loopback address with a port nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startProc starts name: bin args..., with env added to the suite's environment, output to logFile.
// It returns at once; waitHealthy waits for it to answer.
func startProc(kids *children, name, bin string, args, env []string, addr, logFile string) (*proc, error) {
	return startProcAttr(kids, name, bin, args, append(os.Environ(), env...), addr, logFile, childAttr(), "")
}

// startProcAttr is startProc with the child's whole environment, its attributes and its working
// directory ("": the suite's).
func startProcAttr(kids *children, name, bin string, args, env []string, addr, logFile string, attr *syscall.SysProcAttr, dir string) (*proc, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = attr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, base: "http://" + addr, pid: cmd.Process.Pid, started: started, done: make(chan struct{}), log: logFile, kids: kids}
	kids.add(cmd)
	go func() {
		p.err = cmd.Wait()
		out.Close()
		kids.remove(p.pid)
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitHealthy polls GET path every 2 ms until it answers 200, and returns the time since start.
func (p *proc) waitHealthy(ctx context.Context, start time.Time, path string, limit time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	defer client.CloseIdleConnections()
	deadline := start.Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		if p.exited() {
			return 0, fmt.Errorf("%s exited before answering %s (%v): %s", p.name, path, p.err, p.tail())
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s did not answer %s within %s: %s", p.name, path, limit, p.tail())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop asks the process to shut down (SIGTERM) and kills it after a grace period. Where it cannot be
// asked (no SIGTERM to send), it is killed at once, and stop says so.
func (p *proc) stop() error {
	if p.exited() {
		return nil
	}
	if !terminate(p.cmd.Process) {
		p.kill()
		return fmt.Errorf("%s was killed: there is no SIGTERM on %s to ask it to shut down", p.name, runtime.GOOS)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(15 * time.Second):
		killGroup(p.cmd.Process)
		<-p.done
		return fmt.Errorf("%s ignored SIGTERM for 15s and was killed", p.name)
	}
}

// kill ends the process and its group at once (SIGKILL) and waits for it to exit.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	killGroup(p.cmd.Process)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// tail returns the last lines of the process's log, for error messages.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// memStatus is a process's resident set now (VmRSS) and at its peak (VmHWM), in bytes.
type memStatus struct {
	RSS, HWM int64
}

// readMem reads /proc/<pid>/status.
func readMem(pid int) (memStatus, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memStatus{}, err
	}
	defer f.Close()
	var m memStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &m.RSS
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &m.HWM
		default:
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc/%d/status: %q", pid, line)
		}
		*dst = kb << 10
	}
	if m.RSS == 0 {
		return m, errors.Join(sc.Err(), fmt.Errorf("/proc/%d/status has no VmRSS", pid))
	}
	return m, sc.Err()
}

// resetPeak resets the process's VmHWM to its current RSS (Linux clear_refs 5). It reports whether
// the kernel accepted it.
func resetPeak(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}

// rssSampler samples a process's VmRSS every 5 ms and keeps the largest value.
type rssSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}
	max  int64
	n    int
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readMem(pid); err == nil {
				s.max = max(s.max, m.RSS)
				s.n++
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the largest RSS seen and the number of samples.
func (s *rssSampler) finish() (int64, int) {
	close(s.stop)
	<-s.done
	return s.max, s.n
}

// memWatch measures a process's resident memory over a stretch of work: its baseline once the
// process has settled (with VmHWM reset to it where the kernel allows), and its peak, from 5 ms
// samples and, when it is trustworthy (reset, or grown past the baseline's), VmHWM.
type memWatch struct {
	pid     int
	before  memStatus
	reset   bool
	sampler *rssSampler
}

// watchMem lets the process settle, reads its baseline and starts sampling.
func watchMem(pid int) (*memWatch, error) {
	time.Sleep(300 * time.Millisecond)
	w := &memWatch{pid: pid}
	var err error
	if w.before, err = readMem(pid); err != nil {
		return nil, err
	}
	if w.reset = resetPeak(pid); w.reset {
		if w.before, err = readMem(pid); err != nil {
			return nil, err
		}
	}
	w.sampler = sampleRSS(pid)
	return w, nil
}

// finish stops sampling and returns the peak RSS, the number of samples and the status after.
func (w *memWatch) finish() (peak int64, samples int, after memStatus, err error) {
	peak, samples = w.sampler.finish()
	if after, err = readMem(w.pid); err != nil {
		return 0, samples, after, err
	}
	if w.reset || after.HWM > w.before.HWM {
		peak = max(peak, after.HWM)
	}
	return peak, samples, after, nil
}

// clockTicks is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTicks = 100

// readCPU returns the user plus system CPU time the process has used.
func readCPU(pid int) (time.Duration, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return st.utime + st.stime, nil
}

// procStat is what the suite reads of /proc/<pid>/stat.
type procStat struct {
	ppid                         int
	utime, stime, cutime, cstime time.Duration
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name, field 2, is in parentheses and may hold spaces: count fields after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	var st procStat
	var errs []error
	ticks := func(field int) time.Duration { // field numbers as in proc(5)
		v, err := strconv.ParseInt(f[field-3], 10, 64)
		errs = append(errs, err)
		return time.Duration(v) * time.Second / clockTicks
	}
	ppid, err := strconv.Atoi(f[1]) // field 4
	st.ppid = ppid
	st.utime, st.stime, st.cutime, st.cstime = ticks(14), ticks(15), ticks(16), ticks(17)
	if err := errors.Join(append(errs, err)...); err != nil {
		return procStat{}, err
	}
	return st, nil
}

// readTreeCPU returns the CPU time of a process and its children: PostgreSQL's postmaster and its
// backends. Children that have exited count through the process's cutime and cstime.
func readTreeCPU(pid int) (time.Duration, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	sum := st.utime + st.stime + st.cutime + st.cstime
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if cs, err := readStat(child); err == nil && cs.ppid == pid {
			sum += cs.utime + cs.stime
		}
	}
	return sum, nil
}

// loadAvg is the machine's 1-minute load average, to show how busy it was (0 when unknown).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	x, _ := strconv.ParseFloat(f[0], 64)
	return x
}
