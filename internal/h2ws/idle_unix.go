//go:build unix

package h2ws

import "syscall"

const canPeek = true

// readable reports whether the socket fd has data or an end to read,
// without reading it; false makes the caller wait for the poller.
func readable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
}
