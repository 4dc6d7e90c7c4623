import type { AppSource } from '@sluice/core';
import { AppSourceError, readAppFolder } from '@sluice/sandbox';
import { CliError } from './admin-client';

/** Reads an app folder for the CLI: a problem with it is a one-line CliError naming the folder or file. */
export async function readAppDir(dir: string): Promise<AppSource> {
  try {
    return await readAppFolder(dir);
  } catch (error) {
    if (error instanceof AppSourceError) throw new CliError(error.message);
    throw error;
  }
}
