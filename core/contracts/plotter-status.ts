import { Type, type Static } from '@sinclair/typebox';

/**
 * What the plotter says of one analysis (`status.json`, `GET /analyses/<id>/status`): the document
 * the operator takes completion from (docs/operator.md, "When an analysis has succeeded"), so that
 * `Succeeded` means the plotter holds every chunk, not merely that every chunk's Job exited 0.
 */
export const CHUNK_RANGES_PATTERN = '^(\\d+(-\\d+)?(,\\d+(-\\d+)?)*)?$';

const Count = Type.Integer({ minimum: 0 });

export const PlotterStatusSchema = Type.Object({
  schema: Type.Literal('hzz.status/v1'),
  analysis: Type.String({ minLength: 1 }),
  /** False until the plan has arrived; `chunks.total` is null until then. */
  planned: Type.Boolean(),
  chunks: Type.Object({ total: Type.Union([Count, Type.Null()]), done: Count }),
  /** The chunk indices the plotter holds and counts, as ranges ("0-41,43"); none before the plan. */
  stored: Type.String({ pattern: CHUNK_RANGES_PATTERN }),
  /** The outputs on the volume are drawn from every stored chunk (and the last write worked). */
  drawn: Type.Boolean(),
  /** Every chunk of the plan is in and drawn. */
  complete: Type.Boolean(),
  /** The output folder refused the last write of this analysis (a full disk, say); it is retried. */
  writeError: Type.Optional(Type.String()),
  /** The drawing failed for a reason that drawing again cannot cure (a sum that overflows): not retried. */
  failed: Type.Optional(Type.String()),
  updatedAt: Type.String(),
});

export type PlotterStatus = Static<typeof PlotterStatusSchema>;
