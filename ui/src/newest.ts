/**
 * For requests that may finish out of order (a slow "Load more" after the filters changed, two
 * quick searches): each load takes a ticket, and only the newest ticket's answer is applied.
 * Pure: the unit tier imports it.
 */
export interface Newest {
  /** A new ticket; it says whether it is still the newest when its answer arrives. */
  take(): () => boolean;
}

export function newestWins(): Newest {
  let last = 0;
  return {
    take() {
      const mine = ++last;
      return () => mine === last;
    },
  };
}
