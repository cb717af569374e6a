/** backup.json (FORMAT.md 13): not yet checked in the browser. */
import type { Harness, Vec } from "./harness";

/** Checks backup.json. */
export async function checkBackup(t: Harness, _v: Vec, _k: unknown): Promise<void> {
  t.fail("backup.json", "checks", "backup.json is not checked yet");
}
