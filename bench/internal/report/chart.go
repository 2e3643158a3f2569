package report

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff},
}

// Chart draws two panels into a PNG at path: full-scan throughput per
// transport (wide and narrow tables), and fan-out total PSS per transport
// and consumer count.
func Chart(path string, r *Results) error {
	scan, err := scanPlot(r)
	if err != nil {
		return err
	}
	fan, err := fanoutPlot(r)
	if err != nil {
		return err
	}
	img := vgimg.New(16*vg.Inch, 6*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 2, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	cs := plot.Align([][]*plot.Plot{{scan, fan}}, tiles, dc)
	scan.Draw(cs[0][0])
	fan.Draw(cs[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var scanOrder = []struct{ t, short string }{
	{"cursorwindow-filled", "cw filled"},
	{"cursorwindow", "cw cached"},
	{"cursorwindow-inline", "cw inline"},
	{"msgpack", "msgpack"},
	{"grpc", "gRPC"},
}

func scanPlot(r *Results) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Full scan of %s rows, across processes (in-process Go slices: %s rows/s wide)", thousands(r.Env.Rows), mrows(r.scan("wide", "in-process").RowsPerSec()))
	p.Y.Label.Text = "million rows/s (median)"
	var names []string
	for _, s := range scanOrder {
		names = append(names, s.short)
	}
	w := vg.Points(22)
	for i, tbl := range []string{"wide", "narrow"} {
		var vs plotter.Values
		for _, s := range scanOrder {
			vs = append(vs, r.scan(tbl, s.t).RowsPerSec()/1e6)
		}
		b, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return nil, err
		}
		b.Color = palette[i]
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(2*i-1) / 2
		p.Add(b)
		p.Legend.Add(tbl+" table", b)
	}
	p.Legend.Top = true
	p.Y.Max *= 1.08 // room above the tallest bar
	p.NominalX(names...)
	return p, nil
}

func fanoutPlot(r *Results) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Fan-out: total PSS of provider + consumers"
	p.Y.Label.Text = "MiB (median)"
	var ts []string
	ns := map[int]bool{}
	var counts []int
	for _, f := range r.Fanout {
		if len(ts) == 0 || ts[len(ts)-1] != f.Transport {
			ts = append(ts, f.Transport)
		}
		if !ns[f.Consumers] {
			ns[f.Consumers] = true
			counts = append(counts, f.Consumers)
		}
	}
	w := vg.Points(16)
	for i, n := range counts {
		var vs plotter.Values
		for _, t := range ts {
			vs = append(vs, r.fanout(t, n).TotalPSS/(1<<20))
		}
		b, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return nil, err
		}
		b.Color = palette[i%len(palette)]
		b.LineStyle.Width = 0
		b.Offset = w * (vg.Length(i) - vg.Length(len(counts)-1)/2)
		p.Add(b)
		p.Legend.Add(plural(n, "consumer"), b)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Max *= 1.08
	p.NominalX(ts...)
	return p, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// thousands formats n with commas: 1,000,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
