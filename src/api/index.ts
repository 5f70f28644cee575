/**
 * The Node API of CV Workbench (`import { ... } from 'cv-workbench'`).
 * Custom components (`custom_imports`) import `register`, `z` and `slot` from here too.
 */
import '../builtins';
import * as tf from '@tensorflow/tfjs-core';
import { z as zod } from 'zod';
import { shareModule } from '../core/customImports';
import * as api from './index';

// Custom modules (custom_imports) get this API and the toolkit's own instances of zod and
// TensorFlow.js, whatever their workspace has installed, so they register into this registry.
shareModule('cv-workbench', () => api);
shareModule('zod', () => ({ z: zod, default: zod }));
shareModule('@tensorflow/tfjs-core', () => tf);

export { z } from 'zod';
export {
  register,
  build,
  registries,
  allComponents,
  findComponent,
  type ComponentSpec,
  type RegisteredComponent,
  type BuildContext,
} from '../core/registry';
export { slot, type ComponentConfig } from '../core/schema';
export { COMPONENT_KINDS, type ComponentKind } from '../core/kinds';
export { checkConfig, resolveConfig, type CheckResult, type ResolvedConfig } from '../core/check';
export { validateConfig } from '../core/validate';
export { loadConfig } from '../core/config/load';
export { generateJsonSchema } from '../core/jsonSchema';
export { ConfigError, UserError, formatProblem, type Problem } from '../core/problems';
export { registerConfigSection } from '../core/rootSchema';
export { train, type TrainOptions, type TrainResult } from '../train/train';
export { evaluate, type EvaluateOptions, type EvaluateResult } from '../eval/evaluate';
export type { Override, Overrides } from '../core/config/overrides';
export { initEngine, engineReport, engineAvailability, ENGINE_NAMES, type EngineReport, type EngineName } from '../engine';
export { exportModel, type ExportOptions, type ExportResult, type ExportFormat } from '../export/exportModel';
export { Classifier, FeatureExtractor, Predictor, type ClassifierOptions, type Classification, type ClassScore, type PredictorOptions, type ImageInput, type PixelImage, type Settled } from '../export/predict';
export { retrieve, buildIndex, nearest, listImages, type Neighbour, type ImageIndex } from '../export/retrieve';
export { Detector, type Detection, type DetectionResult, type DetectorOptions } from '../export/predict';
export { Segmenter, type SegmentationResult } from '../export/predict';
export { cocoEvaluate, formatSummary as formatCocoSummary, SUMMARY_NAMES as COCO_SUMMARY_NAMES, type CocoGt, type CocoDetection, type CocoEvalResult } from '../eval/cocoEval';
export { synthShapes, SHAPES_DEFAULTS, SHAPE_CLASSES, type ShapesOptions } from '../data/synth/shapes';
export { ExportHook } from '../export/exportHook';
export { createLoader, type Loader, type LoaderOptions } from '../data/loader';
export type { Batch, Box, DataSource, ImageRef, ImageTensor, OpenContext, SourceFactory, SourceItem } from '../data/types';
export { writablePixels, type PipelineStep, type ViewState } from '../data/pipeline/step';
export { DataError } from '../data/errors';
export { packSource, type PackOptions, type PackResult } from '../data/tfrecord/pack';
export { TFRecordWriter } from '../data/tfrecord/writer';
export { encodeExample, decodeExample, type Feature, type Features } from '../data/tfrecord/example';
export { inspectSource, type InspectReport } from '../data/inspect';
export { setMaxImagePixels, maxImagePixels, DEFAULT_MAX_IMAGE_PIXELS } from '../data/pixelLimit';
export { fetchDataset, RECIPES as DATASET_RECIPES, type DatasetRecipe } from '../data/fetch';
