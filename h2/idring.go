package h2

// idRing remembers the last few stream ids added to it: a bounded memory of
// recent stream events that a peer cannot grow. Its slots are made at the
// first add: most connections never reset a stream, and an idle one should
// not carry them.
type idRing struct {
	ids  []uint32
	size int
	next int
}

func newIDRing(n int) idRing { return idRing{size: n} }

func (r *idRing) add(id uint32) {
	if r.ids == nil {
		r.ids = make([]uint32, r.size)
	}
	r.ids[r.next%len(r.ids)] = id
	r.next++
}

func (r *idRing) has(id uint32) bool {
	for _, v := range r.ids {
		if v == id && id != 0 {
			return true
		}
	}
	return false
}

func (r *idRing) forget(id uint32) {
	for i, v := range r.ids {
		if v == id {
			r.ids[i] = 0
		}
	}
}
