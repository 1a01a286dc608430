/**
 * Composition only: read the stack's configuration once, then wire the
 * components together. Every resource lives in a component under components/.
 */
import { loadStackConfig } from "./config";

const config = loadStackConfig();

export const environment = config.environment;
