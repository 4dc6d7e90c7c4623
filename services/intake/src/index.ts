export { createCapture, type Capture, type CaptureOptions } from './capture';
