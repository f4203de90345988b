package matrix

// Tokens are an answer's tokens by the rate each is billed at. The
// cache writes include the hour-long ones, which have a rate of their own.
type Tokens struct {
	Uncached, CacheRead, CacheWrite, CacheWrite1h, Output int64
}

// Cost is what t costs at these prices (USD per 1M tokens): the uncached
// prompt at the input rate, cache reads and writes at theirs (the input
// rate where the model has none), the output at the output rate.
func (p *Pricing) Cost(t Tokens) float64 {
	rate := func(pr Price) float64 {
		if pr.Valid {
			return pr.USD
		}
		return p.Input
	}
	write1h := rate(p.CacheWrite1h)
	if !p.CacheWrite1h.Valid {
		write1h = rate(p.CacheWrite)
	}
	usd := float64(t.Uncached)*p.Input + float64(t.Output)*p.Output + float64(t.CacheRead)*rate(p.CacheRead) +
		float64(t.CacheWrite-t.CacheWrite1h)*rate(p.CacheWrite) + float64(t.CacheWrite1h)*write1h
	return usd / 1e6
}
