/** Per-packet loss on a link direction: independent (Bernoulli) or bursty (Gilbert–Elliott). */
import type { Rng } from '../util/rng.ts';

/**
 * The two-state Markov model of Gilbert (1960) and Elliott (1963): each packet is lost with the loss
 * probability of the current state, then the state moves Good→Bad with pGoodToBad or Bad→Good with
 * pBadToGood. With lossInBad = 1 and lossInGood = 0, bursts last 1/pBadToGood packets on average and the
 * mean loss is pGoodToBad / (pGoodToBad + pBadToGood).
 */
export interface GilbertElliottConfig {
  pGoodToBad: number;
  pBadToGood: number;
  lossInBad: number;
  /** Loss in the Good state; the link's `loss` when omitted. */
  lossInGood?: number;
}

export interface LossModelConfig {
  gilbertElliott: GilbertElliottConfig;
}

/** Decides the fate of each packet; draws from its Rng only when a probability is above zero. */
export class PacketLoss {
  private bad = false;

  constructor(
    private readonly rng: Rng,
    private loss: number,
    private model: GilbertElliottConfig | undefined,
  ) {}

  /** Changes the parameters; the Markov state is kept (and reset to Good when the model is removed). */
  configure(loss: number, model: GilbertElliottConfig | undefined): void {
    this.loss = loss;
    this.model = model;
    if (!model) this.bad = false;
  }

  /** True when the packet in hand is lost. */
  lost(): boolean {
    const m = this.model;
    if (!m) return this.rng.chance(this.loss);
    const lost = this.rng.chance(this.bad ? m.lossInBad : (m.lossInGood ?? this.loss));
    this.bad = this.bad ? !this.rng.chance(m.pBadToGood) : this.rng.chance(m.pGoodToBad);
    return lost;
  }

  /** True while the Gilbert–Elliott model is in its Bad state. */
  get inBadState(): boolean {
    return this.bad;
  }
}
