// What every native tfjs kernel needs: tfjs's kernel types (structurally, so this package needs no tfjs
// dependency: @gptlab/tensor passes its own tfjs instance to register()), backend-neutral access to tensor
// memory, and the hand-off to the backend's original kernel for cases the addon does not cover.
import { sizeOf } from '@gptlab/common';
import type { NativeAddon } from './addon';

export type DataType = 'float32' | 'int32' | 'bool' | 'complex64' | 'string';

export interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: DataType;
}

export interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

export type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];

export interface KernelConfig {
  kernelName: string;
  backendName: string;
  kernelFunc: KernelFunc;
  setupFunc?: unknown;
  disposeFunc?: unknown;
}

/** The backend's own kernel of the same name, or null for kernels tfjs does not have (the fused ones). */
export type Fallback = KernelFunc | null;

/** A kernel factory: the kernel for `backendName`, given the kernel it replaces. */
export type MakeKernel = (addon: NativeAddon, backendName: string, fallback: Fallback) => KernelFunc;

interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array | Int32Array): TensorInfo;
}

type ArrayType<A> = abstract new (...args: never[]) => A;

/**
 * Backend-neutral access to tensor memory. Outputs are allocated first (on wasm, allocation can grow the heap
 * and detach earlier views), then views of inputs and outputs are taken, the addon runs, and finish() hands
 * the outputs back as TensorInfos.
 */
export interface Io {
  /** Allocates a float32 output (its view comes from view()). */
  output(shape: number[]): TensorInfo;
  /** Allocates an int32 output (its view comes from viewInt()). */
  outputInt(shape: number[]): TensorInfo;
  /** A Float32Array view of a float32 input or output, or null when not float32 / not readable. */
  view(t: TensorInfo): Float32Array | null;
  /** An Int32Array view of an int32 input, or null. */
  viewInt(t: TensorInfo): Int32Array | null;
  finish(t: TensorInfo): TensorInfo;
}

/** wasm: outputs live in the WebAssembly heap from the start; views alias it. */
class WasmIo implements Io {
  constructor(private readonly backend: WasmBackend) {}
  output(shape: number[]): TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }
  outputInt(shape: number[]): TensorInfo {
    return this.backend.makeOutput(shape, 'int32');
  }
  view(t: TensorInfo): Float32Array | null {
    return this.typed(t, 'float32', Float32Array);
  }
  viewInt(t: TensorInfo): Int32Array | null {
    return this.typed(t, 'int32', Int32Array);
  }
  finish(t: TensorInfo): TensorInfo {
    return t;
  }
  private typed<A>(t: TensorInfo, dtype: DataType, type: ArrayType<A>): A | null {
    if (t.dtype !== dtype) return null;
    const v = this.backend.typedArrayFromHeap(t);
    return v instanceof type ? v : null;
  }
}

/** cpu: outputs are plain typed arrays until finish() hands them to the backend. */
class CpuIo implements Io {
  private readonly pending = new Map<TensorInfo, Float32Array | Int32Array>();
  constructor(private readonly backend: CpuBackend) {}
  output(shape: number[]): TensorInfo {
    return this.allocate(shape, 'float32', new Float32Array(sizeOf(shape)));
  }
  outputInt(shape: number[]): TensorInfo {
    return this.allocate(shape, 'int32', new Int32Array(sizeOf(shape)));
  }
  view(t: TensorInfo): Float32Array | null {
    return this.typed(t, 'float32', Float32Array);
  }
  viewInt(t: TensorInfo): Int32Array | null {
    return this.typed(t, 'int32', Int32Array);
  }
  finish(t: TensorInfo): TensorInfo {
    const values = this.pending.get(t);
    if (!values) return t;
    this.pending.delete(t);
    return this.backend.makeTensorInfo(t.shape, t.dtype, values);
  }
  private allocate(shape: number[], dtype: DataType, values: Float32Array | Int32Array): TensorInfo {
    const info: TensorInfo = { dataId: {}, shape, dtype };
    this.pending.set(info, values);
    return info;
  }
  private typed<A>(t: TensorInfo, dtype: DataType, type: ArrayType<A>): A | null {
    const v = this.pending.get(t) ?? (t.dtype === dtype ? this.backend.data.get(t.dataId)?.values : undefined);
    return v instanceof type ? v : null;
  }
}

export function ioFor(backendName: string, backend: unknown): Io {
  return backendName === 'wasm' ? new WasmIo(backend as WasmBackend) : new CpuIo(backend as CpuBackend);
}

/** Thrown inside a kernel to hand the call to the backend's original kernel. */
export class Unsupported extends Error {}

export function callOriginal(fallback: Fallback, name: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  if (!fallback) throw new Error(`${name}: unsupported by the native kernel and no original kernel to fall back to`);
  return fallback(args);
}

/** A view the addon cannot run without: throws naming the tensor. */
export function need<T>(v: T | null, what: string): T {
  if (v === null) throw new Error(`native kernel: ${what} must be a float32 tensor`);
  return v;
}
