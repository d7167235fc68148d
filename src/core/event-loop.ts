// Yielding to the event loop inside long request work.

/**
 * Lets other requests run between the items of a long piece of work (a bulk create's validation,
 * its writes, its answer). SQLite's driver is synchronous: without this a bulk create would hold
 * the event loop, and every other request, until it is done.
 */
export const letOthersRun = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
