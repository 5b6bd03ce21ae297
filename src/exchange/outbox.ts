/**
 * The endpoint's outputs waiting to be polled: datagrams (`pollTransmit`) and events
 * (`pollEvent`), each a FIFO drained in order after every input or command.
 * @module
 */

/**
 * A FIFO that is filled, then drained to empty: pushes append, polls advance a head index and
 * clear the slot (the item is not kept alive), and the array is dropped once drained.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
  }

  poll(): T | undefined {
    if (this.head >= this.items.length) {
      if (this.items.length) {
        this.items = [];
        this.head = 0;
      }
      return undefined;
    }
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    return item;
  }

  /** Replaces the items queued at index `from` and later (not yet polled) by `f(item)`. */
  rewriteFrom(from: number, f: (item: T) => T): void {
    for (let i = Math.max(from, this.head); i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined) this.items[i] = f(item);
    }
  }
}
