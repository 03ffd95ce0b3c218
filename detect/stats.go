package detect

import (
	"math"
	"slices"
)

// clamp01 limits x to [0, 1]; NaN is 0.
func clamp01(x float64) float64 {
	switch {
	case math.IsNaN(x) || x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}

// ramp is 0 at or below lo, 1 at or above hi and linear between.
func ramp(x, lo, hi float64) float64 {
	if hi <= lo {
		if x >= hi {
			return 1
		}
		return 0
	}
	return clamp01((x - lo) / (hi - lo))
}

// median returns the median of xs (the mean of the middle two for an even
// count, as SQL median does); 0 for none. It sorts a copy.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// averageRanks returns the 1-based ranks of xs, ties sharing the mean of
// their ranks: rank() + (ties − 1)/2, as the evidence SQL computes them.
func averageRanks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case xs[a] < xs[b]:
			return -1
		case xs[a] > xs[b]:
			return 1
		}
		return 0
	})
	ranks := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		r := float64(i+1) + float64(j-i-1)/2
		for k := i; k < j; k++ {
			ranks[idx[k]] = r
		}
		i = j
	}
	return ranks
}

// pearson returns the Pearson correlation of xs and ys (equal lengths), or
// 0 when either is constant or there are fewer than three points.
func pearson(xs, ys []float64) float64 {
	n := len(xs)
	if n < 3 || len(ys) != n {
		return 0
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// spearman returns the rank correlation of values with their order (the
// values are in time order): Pearson's r of row numbers and average ranks.
func spearman(values []float64) float64 {
	order := make([]float64, len(values))
	for i := range order {
		order[i] = float64(i + 1)
	}
	return pearson(order, averageRanks(values))
}

// meanStd returns the mean and population standard deviation of xs.
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// minScale is the smallest spread robustZ divides by, in natural-log
// units (about a 10% difference): peers that are nearly all alike (MAD 0)
// must not turn a small difference into a huge score.
const minScale = 0.1

// robustZ is (x − median) / max(1.4826 · MAD, minScale): how many robust
// standard deviations x lies above the centre of its peers. The detectors
// apply it to logarithms of byte and request counts.
func robustZ(x, med, mad float64) float64 {
	return (x - med) / math.Max(1.4826*mad, minScale)
}

// round rounds x to d decimals.
func round(x float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(x*p) / p
}
