// Kernels the wasm backend lacks but training needs. tfjs's gather gradient (the
// embedding lookup) is an UnsortedSegmentSum, which tfjs-backend-wasm does not register;
// without it full fine-tuning could not train the embedding table. This host-side
// version is exact (a plain scatter-add) and runs once per step on [B·T, H] values.
import * as tf from '@tensorflow/tfjs-core';

interface WasmLike {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: Float32Array): tf.TensorInfo;
}

/** Register UnsortedSegmentSum for wasm once (no-op when some version already has it). */
export function registerTrainingKernels(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    return;
  }
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const b = backend as unknown as WasmLike;
      const xs = b.readSync(x.dataId);
      const ids = b.readSync(segmentIds.dataId);
      const inner = ids.length === 0 ? 0 : xs.length / ids.length; // x [N, ...inner], ids [N]
      const out = new Float32Array(numSegments * inner);
      for (let i = 0; i < ids.length; i++) {
        const s = ids[i];
        if (s < 0 || s >= numSegments) {
          continue;
        }
        const src = i * inner;
        const dst = s * inner;
        for (let j = 0; j < inner; j++) {
          out[dst + j] += xs[src + j];
        }
      }
      return b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32', undefined, out);
    },
  });
}
