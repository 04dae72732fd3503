// Unchecked entry points between the models and the board: symbol-keyed, so they are not part of
// the public API, and only ever called with arguments the caller has checked or computed itself.
// The public methods of the same name check their arguments and then call these.

/** LocalApic: acceptFixedMessage() without the argument checks (the APIC bus's MSI fast path). */
export const ACCEPT_FIXED: unique symbol = Symbol('irqslice.acceptFixed');
/** ApicBus: deliverMsi() without the argument checks (the board's MSI path). */
export const DELIVER_MSI: unique symbol = Symbol('irqslice.deliverMsi');
/** PciFunction: barAccessRead()/barAccessWrite() for a decode the board has just made. */
export const BAR_READ: unique symbol = Symbol('irqslice.barRead');
export const BAR_WRITE: unique symbol = Symbol('irqslice.barWrite');
/** ApicBus: an interrupt already decoded into fields (a remapped one): destination, format, data. */
export const DELIVER_DECODED: unique symbol = Symbol('irqslice.deliverDecoded');
/** ApicBus: hardware APIC IDs that accepted the last delivery (allocates; for the I/O APIC's remapped path). */
export const LAST_ACCEPTED: unique symbol = Symbol('irqslice.lastAccepted');
