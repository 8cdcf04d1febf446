// Harness for the native kernels of @gptlab/tensor-native, tested here because they are this package's
// kernels once registered: the suites compare them with the backends' own kernels through @gptlab/tensor's
// ops. tensor-native cannot run these itself — it would have to load this package, which loads it (a cycle);
// its own tests cover the addon's raw entry points.
//
// Each suite switches the kernels on and off itself (register / unregister), so initBackend() must not
// register them: GPTLAB_NATIVE=0 below (jest gives every test file its own copy of process.env).
import type * as NativeModule from '@gptlab/tensor-native';
import { tf, initBackend } from '../../src';

export type Native = typeof NativeModule;
type NativeBackend = 'wasm' | 'cpu';

const requested = process.env.GPTLAB_NATIVE;
process.env.GPTLAB_NATIVE = '0';

function load(): { native: Native | null; reason: string | null } {
  if (requested === '0') return { native: null, reason: 'GPTLAB_NATIVE=0' };
  let native: Native;
  try {
    native = require('@gptlab/tensor-native') as Native;
  } catch (e) {
    return { native: null, reason: `@gptlab/tensor-native is not installed (${(e as Error).message.split('\n')[0]})` };
  }
  const status = native.addonStatus();
  if (!status.built) return { native: null, reason: status.error ?? 'native addon not built' };
  return { native, reason: null };
}

const { native, reason } = load();

/** The backends to test: the one GPTLAB_BACKEND forces when the kernels support it, else both. */
function backends(): NativeBackend[] {
  const forced = process.env.GPTLAB_BACKEND;
  if (forced === 'wasm' || forced === 'cpu') return [forced];
  return forced ? [] : ['wasm', 'cpu'];
}

/** What a native suite works with: its backend, the loaded package, and a way back to the original kernels. */
export interface NativeSuite {
  backend: NativeBackend;
  native: Native;
  /** Runs fn with the backend's original kernels, then registers the native ones again. */
  withOriginal<R>(fn: () => R): R;
}

/**
 * describe.each over the backends: the backend is initialised before the suite and the native kernels are
 * unregistered after it; `body` registers them where it needs them. Skipped, with the reason printed, when
 * the addon is not built or not wanted.
 */
export function describeNative(title: string, body: (suite: NativeSuite) => void): void {
  const list = backends();
  if (!native || list.length === 0) {
    // eslint-disable-next-line no-console
    console.info(`skipped "${title}": ${reason ?? `no native kernels for GPTLAB_BACKEND=${process.env.GPTLAB_BACKEND}`}`);
    describe.skip(title, () => it('is skipped', () => undefined));
    return;
  }
  describe.each(list)(`${title} on %s`, (backend) => {
    beforeAll(async () => {
      await initBackend({ backend });
    });
    afterAll(() => native.unregister(tf, backend));
    const withOriginal = <R>(fn: () => R): R => {
      native.unregister(tf, backend);
      try {
        return fn();
      } finally {
        native.register(tf, backend);
      }
    };
    body({ backend, native, withOriginal });
  });
}
