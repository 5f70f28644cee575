/**
 * The registered predictors (kind `predictor`): Classifier and FeatureExtractor, configurable from
 * files like every other component, and the same classes for the Node API.
 */
import { z } from 'zod';
import { register } from '../../core/registry';
import { Classifier } from './classifier';
import { FeatureExtractor } from './featureExtractor';
import { Detector } from './detector';
import { Segmenter } from './segmenter';
import { MAX_THREADS } from '../../engine/configSection';

export { Predictor, type PredictorOptions, type Settled } from './predictor';
export { Classifier, softmax, type ClassifierOptions, type Classification, type ClassScore } from './classifier';
export { FeatureExtractor, l2Normalise } from './featureExtractor';
export { Detector, DETECTOR_DEFAULTS, type Detection, type DetectionResult, type DetectorOptions } from './detector';
export { Segmenter, type SegmentationResult } from './segmenter';
export type { ImageInput, PixelImage } from './images';
export { openBackend, modelKind, type InferenceBackend } from './backends';

const common = {
  model: z.string().min(1).describe('An .onnx file (onnxruntime-node), an exported TF.js folder (model.json), a run directory or a .safetensors checkpoint (TensorFlow.js)'),
  batch_size: z.number().int().min(1).default(32).describe('Images per forward pass'),
  threads: z.number().int().min(1).max(MAX_THREADS).optional().describe('onnxruntime threads (default: one per core)'),
  device: z.enum(['cpu', 'gpu']).optional().describe("gpu: onnxruntime's WebGPU provider for ONNX models, falling back to the CPU with a note"),
  resize: z.boolean().default(true).describe('Resize images whose pre-processed size differs from the network input; false makes that an error'),
};

register('predictor', {
  type: 'Classifier',
  description: 'Top-k class labels with softmax scores and class names, from an exported or trained classifier',
  paper: 'EasyCV ClassificationPredictor',
  params: z.strictObject({ ...common, topk: z.number().int().min(1).default(5).describe('Classes returned per image') }),
  build: (p) => new Classifier(p.model, { batchSize: p.batch_size, threads: p.threads, device: p.device, resize: p.resize, topk: p.topk }),
});

register('predictor', {
  type: 'FeatureExtractor',
  description: 'L2-normalised image embeddings (backbone features) for retrieval and near-duplicate matching',
  paper: 'EasyCV FeatureExtractor; cosine retrieval as in kNN evaluation (Wu et al., arXiv:1805.01978)',
  params: z.strictObject(common),
  build: (p) => new FeatureExtractor(p.model, { batchSize: p.batch_size, threads: p.threads, device: p.device, resize: p.resize }),
});

register('predictor', {
  type: 'Detector',
  description: 'Boxes, scores and class labels from an exported or trained detector (YOLOX), after NMS, in the image\'s own pixels',
  paper: 'EasyCV DetectionPredictor; YOLOX post-processing (Ge et al., arXiv:2107.08430)',
  params: z.strictObject({
    ...common,
    score_threshold: z.number().min(0).max(1).default(0.3).describe('Lowest score (objectness x class probability) kept'),
    nms_threshold: z.number().min(0).max(1).default(0.65).describe('IoU above which a lower-scored box of the same class is suppressed'),
    max_detections: z.number().int().min(1).default(100).describe('Boxes kept per image'),
    class_agnostic: z.boolean().default(false).describe('Suppress overlapping boxes across classes too'),
  }),
  build: (p) =>
    new Detector(p.model, { batchSize: p.batch_size, threads: p.threads, device: p.device, resize: p.resize, scoreThreshold: p.score_threshold, nmsThreshold: p.nms_threshold, maxDetections: p.max_detections, classAgnostic: p.class_agnostic }),
});

register('predictor', {
  type: 'Segmenter',
  description: 'The class of every pixel, from an exported or trained segmentor (EncoderDecoder), in the image\'s own pixels',
  paper: 'EasyCV SegmentationPredictor',
  params: z.strictObject(common),
  build: (p) => new Segmenter(p.model, { batchSize: p.batch_size, threads: p.threads, resize: p.resize }),
});
