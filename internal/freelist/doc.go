// Package freelist keeps freed byte buffers by size class for reuse, as h2's
// stream buffers and rpc's message buffers need them: buffers of the large
// classes survive garbage collections, within a byte budget, where a
// sync.Pool alone drops what it holds within two.
//
// A stream of large messages makes the GC run every few messages, so a
// sync.Pool of large buffers is empty as often as not, and each buffer it
// lost is allocated, zeroed and faulted in anew. The large classes therefore
// also keep a free list, and the lists of a Pool share one budget: the bytes
// they pin in all, whatever the classes, rather than a little per class,
// because the classes in use are those of the application's messages and it
// is their buffers that must survive. A Pool pins at most its budget, and
// only as many buffers as were in use together once; beyond it (and for the
// small classes) buffers go to a sync.Pool, which the GC may empty.
package freelist
