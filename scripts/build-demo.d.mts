// Types of scripts/build-demo.mjs for the browser tests.
import type { Server } from 'node:http';

export const DEMO_FILE: string;
export function buildDemo(): Promise<string>;
export function serveDemo(file?: string, port?: number): Promise<{ server: Server; url: string }>;
