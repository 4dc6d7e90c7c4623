import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newAdminToken, newProjectToken, type Logger, type Project, type SluiceConfig } from '@sluice/core';
import type { Store } from '@sluice/store';

export interface BootstrapResult {
  adminToken: string;
  /** Set when this start created the default project. */
  createdProject: Project | undefined;
}

export const DEFAULT_PROJECT_ID = 'default';
const ADMIN_TOKEN_SETTING = 'admin_token';

/** The file where a generated admin token is kept for the local `sluice` CLI. */
export function adminTokenFile(dataDir: string): string {
  return join(dataDir, 'admin-token');
}

async function ensureDefaultProject(store: Store, config: SluiceConfig): Promise<Project | undefined> {
  if ((await store.listProjects()).length > 0) return undefined;
  const token = config.projectToken ?? newProjectToken();
  try {
    return await store.createProject({ id: DEFAULT_PROJECT_ID, name: 'Default project', token });
  } catch (error) {
    // Another process starting at the same moment created it first.
    if (await store.getProject(DEFAULT_PROJECT_ID)) return undefined;
    throw error;
  }
}

async function ensureAdminToken(store: Store, config: SluiceConfig, logger: Logger): Promise<string> {
  if (config.adminToken) return config.adminToken;
  let token = await store.getSetting(ADMIN_TOKEN_SETTING);
  if (!token) {
    // Claimed, not overwritten: of two processes starting at once, both end up with the winner's token.
    const generated = newAdminToken();
    token = await store.claimSetting(ADMIN_TOKEN_SETTING, generated);
    if (token === generated) logger.info({ adminToken: token }, `SLUICE_ADMIN_TOKEN was not set: generated admin token ${token}`);
  }
  // Kept where the local CLI looks for it, readable by this user only.
  await mkdir(config.dataDir, { recursive: true });
  const file = adminTokenFile(config.dataDir);
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

/**
 * First start with an empty store: create the default project and print its token; make sure an
 * admin token exists (generated and printed when SLUICE_ADMIN_TOKEN is unset, then kept).
 */
export async function bootstrap(store: Store, config: SluiceConfig, logger: Logger): Promise<BootstrapResult> {
  const createdProject = await ensureDefaultProject(store, config);
  if (createdProject) {
    logger.info(
      { projectId: createdProject.id, projectToken: createdProject.token },
      `created project "${createdProject.id}"; send events with api_key ${createdProject.token}`,
    );
  }
  return { adminToken: await ensureAdminToken(store, config, logger), createdProject };
}
