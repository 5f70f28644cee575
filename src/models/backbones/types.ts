import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../nn/module';
import { UserError } from '../../core/problems';

/**
 * What necks and heads consume: a list of features, one per `out_indices` entry. Convolutional
 * backbones return NHWC feature maps; transformers return `[batch, dim]` (the class token or the
 * pooled tokens) unless asked for tokens.
 */
export interface Backbone extends Module {
  /** Channels (or embedding width) of each returned feature, in `out_indices` order. */
  readonly outChannels: number[];
  /** Channels of the input images. */
  readonly inChannels: number;
  forward(x: tf.Tensor4D): tf.Tensor[];
}

/** Neck: features in, features out (projection MLPs of self-supervised methods, FPNs). */
export interface Neck extends Module {
  readonly outChannels: number[];
  forward(features: tf.Tensor[]): tf.Tensor[];
}

/** A config whose backbone does not take the data's channels is refused before the first step, saying what to set. */
export function checkInputChannels(backbone: Backbone, channels: number): void {
  if (channels !== backbone.inChannels) {
    throw new UserError(`model.backbone expects ${backbone.inChannels}-channel images but the data has ${channels} channel(s): set model.backbone.in_channels: ${channels}`);
  }
}
