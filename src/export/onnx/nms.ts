/**
 * Non-maximum suppression inside an exported detector: ONNX NonMaxSuppression appended after the
 * decoded `boxes` [batch, anchors, 4] (x1, y1, x2, y2) and `scores` [batch, anchors, classes]
 * outputs, giving one more output, `detections` [k, 7]: (batch index, x1, y1, x2, y2, score,
 * class) for every kept box of every image.
 *
 * As YOLOX's post-processing, each box competes only in its best class (the other classes' scores
 * are zeroed first), and suppression runs per class. ONNX caps boxes per class, not per image:
 * `maxPerClass` bounds each class of each image.
 */
import { OnnxType, type OnnxGraph, type OnnxNode } from '../../engine/ort/onnxModel';
import { UserError } from '../../core/problems';

export interface NmsOptions {
  iouThreshold: number;
  scoreThreshold: number;
  maxPerClass: number;
}

/** Refuse options ONNX's NonMaxSuppression would fail on when the model runs (an IoU of 2: "iou_threshold must be in range [0, 1]"). */
export function checkNmsOptions(options: NmsOptions): void {
  const unit = (v: number, what: string) => {
    if (!(v >= 0 && v <= 1)) throw new UserError(`${what}: expected a number from 0 to 1, got ${v}`);
  };
  unit(options.iouThreshold, 'NMS IoU threshold (--nms-iou)');
  unit(options.scoreThreshold, 'NMS score threshold (--score-threshold)');
  if (!(Number.isInteger(options.maxPerClass) && options.maxPerClass >= 1)) throw new UserError(`NMS boxes per class (--max-per-class): expected a positive whole number, got ${options.maxPerClass}`);
}

export function appendNms(graph: OnnxGraph, options: NmsOptions): void {
  const boxes = graph.outputs.find((o) => o.name === 'boxes');
  const scores = graph.outputs.find((o) => o.name === 'scores');
  if (!boxes || !scores) throw new Error('appendNms: the graph has no boxes and scores outputs');
  const nodes: OnnxNode[] = [];
  const inits = (graph.initializers ??= []);
  let n = 0;
  const name = (hint: string) => `nms_${hint}_${n++}`;
  const op = (type: string, inputs: string[], attrs: OnnxNode['attrs'] = {}): string => {
    const out = name(type.toLowerCase());
    nodes.push({ op: type, inputs, outputs: [out], attrs });
    return out;
  };
  const int64 = (values: number[], dims = [values.length]) => {
    const id = name('i64');
    inits.push({ name: id, type: OnnxType.INT64, dims, values: BigInt64Array.from(values.map(BigInt)) });
    return id;
  };
  const float = (value: number) => {
    const id = name('f32');
    inits.push({ name: id, type: OnnxType.FLOAT, dims: [1], values: Float32Array.of(value) });
    return id;
  };

  // Each box keeps only its best class's score: scores * (scores == max over classes).
  const best = op('ReduceMax', ['scores'], { axes: [2], keepdims: 1 });
  const isBest = op('Cast', [op('Equal', ['scores', best])], { to: OnnxType.FLOAT });
  const bestOnly = op('Mul', ['scores', isBest]);
  const byClass = op('Transpose', [bestOnly], { perm: [0, 2, 1] });
  const selected = op('NonMaxSuppression', ['boxes', byClass, int64([options.maxPerClass]), float(options.iouThreshold), float(options.scoreThreshold)], { center_point_box: 0 });
  // selected: [k, 3] = (batch, class, box).
  const batchBox = op('Gather', [selected, int64([0, 2])], { axis: 1 });
  const keptBoxes = op('GatherND', ['boxes', batchBox]);
  const keptScores = op('Unsqueeze', [op('GatherND', [byClass, selected]), int64([1])]);
  const batchIdx = op('Cast', [op('Gather', [selected, int64([0])], { axis: 1 })], { to: OnnxType.FLOAT });
  const classIdx = op('Cast', [op('Gather', [selected, int64([1])], { axis: 1 })], { to: OnnxType.FLOAT });
  nodes.push({ op: 'Concat', inputs: [batchIdx, keptBoxes, keptScores, classIdx], outputs: ['detections'], attrs: { axis: 1 } });
  graph.nodes.push(...nodes);
  graph.outputs.push({ name: 'detections', type: OnnxType.FLOAT, shape: ['detections', 7] });
}
