package window

// Seal finishes the window and makes it immutable so it can be shared.
// The region is first compacted to what is used (each column's buffers
// moved down, with no room to spare), then a memfd is sealed with F_SEAL_SHRINK, F_SEAL_GROW,
// F_SEAL_WRITE and F_SEAL_SEAL: no process, the writer included, can change
// it again. The writer's own writable mapping is removed first (the kernel
// refuses F_SEAL_WRITE while one exists); Bytes maps it again read-only
// on demand. Writes after Seal return ErrSealed, and Reset does too.
//
// A window that was sealed with SealReusable and then Reset can be neither
// compacted nor sealed further: F_SEAL_SHRINK forbids the truncation and
// F_SEAL_SEAL any new seal, so it keeps its size and F_SEAL_FUTURE_WRITE.
// Seal then zeroes what earlier fills left in its free space, ends the
// writing and refuses a later Reset; the writer's mapping stays writable
// until Close, as the kernel's seals allow.
func (w *Writer) Seal() error {
	if err := w.writable(); err != nil {
		return err
	}
	w.finishRow()
	w.reusable = false
	if w.kernelSealed {
		w.scrub()
		putDirectory(w.buf, w.cols, w.nrows, w.size)
		w.state = stateSealed
		return nil
	}
	size := w.compact()
	if w.reg == nil {
		w.buf = w.buf[:size:size]
		w.size = size
		w.state = stateSealed
		return nil
	}
	err := w.reg.seal(int64(size), false)
	w.buf = w.reg.mem()
	if w.buf == nil || err == nil {
		w.size = size
		w.state = stateSealed // the mapping is gone: nothing can be written
	}
	if err != nil {
		return err
	}
	w.kernelSealed = true
	return nil
}

// SealReusable finishes the window and seals its memfd with F_SEAL_SHRINK,
// F_SEAL_GROW, F_SEAL_FUTURE_WRITE and F_SEAL_SEAL: no other process can
// change its size or write to it, while the writer keeps its own writable
// mapping, so the window can later be Reset and refilled without the cost
// of new pages (the provider's window pool). The region is not compacted,
// and a refilled window cannot grow. Its free space holds only zeros:
// what an earlier fill (or a removed row) left there is cleared first.
// Writes after SealReusable return ErrSealed until Reset.
func (w *Writer) SealReusable() error {
	if err := w.writable(); err != nil {
		return err
	}
	w.finishRow()
	w.scrub()
	putDirectory(w.buf, w.cols, w.nrows, w.size)
	if w.reg != nil && !w.kernelSealed {
		if err := w.reg.seal(int64(w.size), true); err != nil {
			return err
		}
		w.kernelSealed = true
	}
	w.reusable = true
	w.state = stateSealed
	return nil
}

// mapReadOnly maps a sealed memfd again after Seal removed the writer's
// mapping.
func (w *Writer) mapReadOnly() error {
	if w.buf != nil || w.reg == nil {
		return nil
	}
	if err := w.reg.mapReadOnly(int64(w.size)); err != nil {
		return err
	}
	w.buf = w.reg.mem()
	return nil
}

// compact moves the buffers down into the exact layout (placeExact),
// zeroes the padding between them, writes the directory and returns the
// window's compact size. Every buffer moves down or stays, so the moves
// never overwrite one another.
func (w *Writer) compact() uint64 {
	w.old = append(w.old[:0], w.cols...)
	size := placeExact(w.cols, w.nrows)
	w.spans = spans(w.spans[:0], w.old, w.cols, w.nrows, -1)
	moveSpans(w.buf, exactLengths(w.spans, w.cols, w.nrows))
	dir := directoryEnd(w.ncols)
	w.spans = liveBuffers(w.spans[:0], w.cols, w.nrows)
	clearExcept(w.buf[:size], []span{{from: dir, n: size - dir}}, w.spans)
	w.capRows, w.end = w.nrows, size
	putDirectory(w.buf, w.cols, w.nrows, size)
	return size
}
