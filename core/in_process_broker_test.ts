import { brokerContract } from "../tests/support/broker_contract.ts";
import { InProcessHub } from "./in_process_broker.ts";

brokerContract("in-process", () => ({
  open: (count) => {
    const hub = new InProcessHub({ keepMessages: 20 });
    return Promise.resolve(Array.from({ length: count }, (_, i) => hub.node(`node${i}`)));
  },
  close: () => Promise.resolve(),
}));
