/**
 * The README's runnable example: load the tiny CLIP, LLaMA and ResNet fixtures, run them, splice projected image
 * features into the LLM input, generate, and extend the conversation through the KV cache.
 *   npx tsx --conditions=@segllm/source scripts/example-models.ts   (from packages/models)
 */
import { cat, noGrad, openSafetensors, randn, tensor } from '@segllm/tensor';
import {
  ClipVisionTransformer, D2ResNet, LlamaForCausalLM, buildProjector, generate, inferResNetConfig, loadClipVision, loadLlama,
  loadResNet, parseClipVisionConfig, parseLlamaConfig, torchvisionToDetectron2Key,
} from '../src/index.ts';

const dir = new URL('../test/fixtures/models/', import.meta.url).pathname;
/** The HF config these fixtures carry in their metadata (a real checkpoint has it in config.json: readConfigJson). */
const configOf = async (file: string): Promise<unknown> => {
  const f = await openSafetensors(dir + file);
  const meta = JSON.parse(String(f.metadata.about)) as { config: unknown };
  await f.close();
  return meta.config;
};

// CLIP vision tower; loading accepts the transformers 5, `vision_model.` and SegLLM key prefixes.
const clip = new ClipVisionTransformer(parseClipVisionConfig(await configOf('clip_vision_tiny.weights.safetensors')));
await loadClipVision(clip, dir + 'clip_vision_tiny.weights.safetensors');
const pixels = randn([1, 3, 56, 56]); // clipPreprocess(image, { size: 56 }) for a real image
const patches = noGrad(() => clip.features(pixels, { selectLayer: -2, selectFeature: 'patch' })); // [1, 16, 64]
console.log('CLIP patch features', patches.shape);

// LLaVA projector mlp2x_gelu (random here; loadProjector reads model.mm_projector.* from a LLaVA checkpoint).
const projector = buildProjector('mlp2x_gelu', 64, 64);
const imageTokens = noGrad(() => projector.forward(patches)); // [1, 16, 64]

// LLaMA: splice the projected image tokens after the first 3 token embeddings, then generate greedily.
const llm = new LlamaForCausalLM(parseLlamaConfig(await configOf('llama_tiny.weights.safetensors')));
await loadLlama(llm, dir + 'llama_tiny.weights.safetensors');
const emb = noGrad(() => llm.embed(tensor([[1, 40, 41, 42, 43]], { dtype: 'int32' }))); // [1, 5, 64]
const inputs = noGrad(() => cat([emb.slice(1, 0, 3), imageTokens, emb.slice(1, 3)], 1)); // [1, 21, 64]
const { tokens, cache } = await generate(llm, inputs, { maxNewTokens: 8, stopIds: [2], preallocate: false }); // a growing cache
console.log('generated', tokens, 'cached positions', cache.length);
// Extend the conversation: positions continue from cache.length; only the new chunk is computed.
const next = noGrad(() => llm.forward({ inputIds: tensor([[tokens[tokens.length - 1], 50, 51]], { dtype: 'int32' }), cache, logits: 'last' }));
console.log('next-token logits', next.logits!.shape, 'cached positions', cache.length);

// ResNet backbone in the detectron2 (HIPIE) layout, loaded from a torchvision-layout file by renaming keys.
const f = await openSafetensors(dir + 'resnet_tiny.weights.safetensors');
const { config } = inferResNetConfig(new Map(f.keys().map((k) => [k, (f.info(k) as { shape: number[] }).shape])));
await f.close();
const backbone = new D2ResNet({ ...config, num_classes: 0 });
await loadResNet(backbone, dir + 'resnet_tiny.weights.safetensors', { rename: torchvisionToDetectron2Key });
const feats = noGrad(() => backbone.forward(randn([1, 3, 96, 128])));
console.log('ResNet', Object.entries(feats).map(([k, t]) => `${k} ${t.shape.join('x')}`).join(', '));
