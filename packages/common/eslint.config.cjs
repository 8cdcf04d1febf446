module.exports = require('@gptlab/eslint-config');
