/**
 * The live progress area on a terminal: log-update redraws it in place
 * (erasing the previous frame, hiding the cursor and showing it again, also
 * when the process is ended by a signal). Loaded only when stderr is a
 * terminal, so nothing else pays for it.
 *
 * No colour is used, so NO_COLOR has nothing to turn off; the frame is plain
 * text, and log-update adds only cursor movement and line erasing.
 */
import { createLogUpdate } from "log-update";
import { setLiveArea } from "../output.js";
import { Transfers } from "./transfers.js";
import type { TransferProgress } from "./types.js";

/** Redraws a second at most: enough to look live, little enough to cost nothing. */
const FRAME_MS = 100;
const FALLBACK_COLUMNS = 80;
const FALLBACK_ROWS = 24;
/** Lines kept free below the area when the terminal is short. */
const SPARE_ROWS = 2;

export function createTerminalProgress(stream: NodeJS.WriteStream = process.stderr): TransferProgress {
  // A terminal that reports no size (0 x 0, as a pseudo-terminal may) is drawn at 80 x 24, not hidden.
  const columns = (): number => stream.columns || FALLBACK_COLUMNS;
  const rows = (): number => stream.rows || FALLBACK_ROWS;
  const view = { isTTY: true, get columns() { return columns(); }, get rows() { return rows(); }, write: (text: string) => stream.write(text) };
  const draw = createLogUpdate(view as unknown as NodeJS.WriteStream);
  const transfers = new Transfers();
  let timer: NodeJS.Timeout | undefined;
  let finished = false;

  const render = (): void => {
    if (finished) return;
    const maxRows = Math.max(1, Math.min(5, rows() - SPARE_ROWS - 2));
    draw(transfers.frame({ width: columns(), maxRows }).join("\n"));
  };
  // Lines printed while the area is up (a warning, a --debug line) go above it.
  setLiveArea({ clear: () => draw.clear(), redraw: render });

  return {
    plan(items) {
      transfers.plan(items);
      if (timer === undefined && !finished) {
        render();
        // The ticks also keep rate and ETA honest through a stall; unref'd, they never hold the process open.
        timer = setInterval(render, FRAME_MS).unref();
      }
    },
    start: (id) => transfers.start(id),
    bytes: (id, transferred) => transfers.bytes(id, transferred),
    done: (id, how) => transfers.done(id, how),
    async finish() {
      if (finished) return;
      clearInterval(timer);
      setLiveArea(undefined);
      draw.clear();
      draw.done();
      finished = true;
    },
  };
}
