// The "Packets" panel (playground/_packets.html): the sandbox's own packets as a
// sequence diagram, as `tcpdump -n` prints them, and as a table. Plain ES modules, no
// build step: this one names the panel's rules and exports its parts (timeline/).
// playground.js imports it and hands it the events it needs and the mount's store,
// from which it reads the sandbox (devices, sockets, hello.capture) and the step's pick.
//
// Rules:
// - The server keeps each sandbox's packets from its start (bounded), but sends them
//   as `packet` events only while the sandbox is watched: this page asks (`capture`
//   on) only while the panel is open, says off when it closes, and asks again after
//   every (re)connect, since a closed WebSocket takes its wish with it. Whether the
//   panel is open is remembered (localStorage). Packets that arrive while it is
//   closed (another tab, or an experiment, wants them) are still drawn, and counted
//   in its summary.
// - The server is the source of truth: `hello.packets` and the packets that answer a
//   granted `capture` (the kept history) replace what the panel showed, with the
//   sockets' states as they are now, so a panel opened late and a reload show the
//   same packets, a connection's handshake included.
// - Packets older than the kept ones are not hidden silently: the server says how many
//   came before the first packet it sends (`hello.capture.older`, the `capture`
//   answer's `older`), and each packet that leaves the screen adds itself and the
//   rate-limited ones before it (its `dropped`), as the server's own count does.
// - Reset starts the panel again: what it showed before the page's `reset` was
//   answered goes, and the sockets of before are not written any more.
// - Opening a packet while the experiment's step asks for a packet is the learner's
//   pick of it, as its "Pick this one" button is.
// - Text from the server (payloads, notes, addresses) is only ever set as text,
//   never parsed as markup.
// - Every packet is a button: keyboard reachable, its accessible name says what the
//   arrow shows (number, direction, flags, numbers, meaning). Colour never says
//   anything the words do not. While the experiment's step asks for a packet, each
//   packet also has a "Pick this one" button (the server judges the pick).
// - The words for a packet are exactly true of what Linux TCP does; where the panel
//   cannot tell (a connection whose start it did not see), it says less.
// Protocol: docs/playground-protocol.md (the `packet` event, `hello.capture`).

export { mountTimeline } from "./timeline/panel.js";
