export * from '../src';
export { Rng, tf } from '@gptlab/tensor';
