// How large the kernel's read and write requests to the mount may be. libfuse 2.9 alone caps them
// at 128 KiB; the patched fuse-native (v6) lets the kernel send up to this many pages per request.
// Each request is a trip from the kernel through a FUSE thread to JS and back: a 1 GiB fsync'd
// write cost the mount 1.2-1.4 s of CPU in 1 MiB requests against 1.8-3.8 s in 128 KiB ones.

/** the kernel's own limit unless raised (fs.fuse.max_pages_limit) */
export const REQUEST_PAGES = 256;
export const REQUEST_BYTES = REQUEST_PAGES * 4096;
