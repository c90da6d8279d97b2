package importer

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressWidth is the bar's width in cells; it fits an 80-column terminal
// with a long label and a 50,000-row count.
const progressWidth = 30

// Progress draws a one-line progress bar for the CLI. On a terminal it
// redraws the line in place with \r; anywhere else (a log file, a pipe) a
// stream of \r frames is noise, so it writes only the final line.
// It is safe to call from several goroutines.
type Progress struct {
	mu       sync.Mutex
	w        io.Writer
	total    int
	done     int
	label    string
	tty      bool
	last     time.Time // when the line was last drawn
	lastPct  int
	finished bool
}

// NewProgress starts a bar for total steps; total <= 0 shows a bare count.
func NewProgress(w io.Writer, total int, label string) *Progress {
	p := &Progress{w: w, total: total, label: label, tty: isTerminal(w), lastPct: -1}
	if p.tty {
		p.draw()
	}
	return p
}

// Add records n more steps done and redraws at most ten times a second
// (and on every new percent), so a tight loop is not slowed by the terminal.
func (p *Progress) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if !p.tty || p.finished {
		return
	}
	if p.percent() != p.lastPct || time.Since(p.last) >= 100*time.Millisecond {
		p.draw()
	}
}

// Done draws the final state and ends the line; later calls do nothing.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
		return
	}
	fmt.Fprintln(p.w, p.line(false))
}

func (p *Progress) percent() int {
	if p.total <= 0 {
		return 0
	}
	return min(100, p.done*100/p.total)
}

func (p *Progress) draw() {
	p.last, p.lastPct = time.Now(), p.percent()
	fmt.Fprint(p.w, "\r"+p.line(true))
}

// line renders "导入 [#####-----] 523/1000 52%", without the bar when
// bar is false or the total is unknown.
func (p *Progress) line(bar bool) string {
	if p.total <= 0 {
		return fmt.Sprintf("%s %d", p.label, p.done)
	}
	pct := p.percent()
	if !bar {
		return fmt.Sprintf("%s %d/%d %d%%", p.label, p.done, p.total, pct)
	}
	filled := pct * progressWidth / 100
	return fmt.Sprintf("%s [%s%s] %d/%d %d%%", p.label,
		strings.Repeat("#", filled), strings.Repeat("-", progressWidth-filled), p.done, p.total, pct)
}

// isTerminal reports whether w is a character device, which is how a
// terminal looks to Stat without a dependency on x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
