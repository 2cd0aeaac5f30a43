/**
 * Base models loaded once per process and kept in memory between jobs. Loading
 * SD1.5 takes tens of seconds and gigabytes; every job of the same base model
 * reuses the same bundle, and concurrent requests for one id share one load.
 * A failed load is forgotten so the next job may try again.
 */
export class ModelRegistry<Bundle> {
  private readonly loads = new Map<string, Promise<Bundle>>();
  private readonly ready = new Set<string>();

  constructor(private readonly loader: (baseModel: string) => Promise<Bundle>) {}

  get(baseModel: string): Promise<Bundle> {
    let load = this.loads.get(baseModel);
    if (!load) {
      load = this.loader(baseModel).then(
        (bundle) => {
          this.ready.add(baseModel);
          return bundle;
        },
        (error: unknown) => {
          this.loads.delete(baseModel);
          throw error;
        },
      );
      this.loads.set(baseModel, load);
    }
    return load;
  }

  /** Ids of the models in memory now (for /healthz). */
  loaded(): string[] {
    return [...this.ready];
  }
}
