module.exports = { preset: '@gptlab/jest-preset' };
