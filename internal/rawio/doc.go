// Package rawio reads sockets with raw system calls.
//
// A read of a Go socket enters the scheduler's system-call state, and when
// the program was idle that wakes the runtime's monitor thread (sysmon),
// which then polls every 20 µs for as long as the program stays busy. A
// publisher's socket is read a few hundred times a second, each read
// starting a burst of work (a frame fanned out to every player): on a box
// whose server has one core, the monitor's polling was most of the
// server's context switches (100 SRT players: 18,000-21,000 in 8 s, 6,300-
// 6,800 with raw reads) and a tenth of its CPU. A socket is non-blocking,
// so a raw read never blocks; waiting stays the netpoller's, deadlines
// included.
package rawio
