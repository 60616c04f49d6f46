// --adapter-index K, one process per GPU: the host's GPUs read from a sysfs tree (a made-up one here: this machine
// has no GPU), the PCI tag Mesa's device-select layer matches, the layer found where the Vulkan loader looks, and
// Dawn's own list of the adapters it sees (read on SwiftShader, the one adapter here).
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceSelectLayer, driPrimeTag, pciGpus, selectGpu, visibleAdapters } from '../../src/cli/adapter-index';

/** A /sys/bus/pci/devices with these devices: [address, class, kernel driver or null]. */
function fakeSysfs(devices: [string, string, string | null][]): string {
  const root = mkdtempSync(join(tmpdir(), 'ql-sysfs-'));
  const drivers = join(root, 'drivers');
  const dir = join(root, 'devices');
  mkdirSync(dir);
  for (const [address, cls, driver] of devices) {
    mkdirSync(join(dir, address));
    writeFileSync(join(dir, address, 'class'), `${cls}\n`);
    if (driver) {
      mkdirSync(join(drivers, driver), { recursive: true });
      symlinkSync(join(drivers, driver), join(dir, address, 'driver'));
    }
  }
  return dir;
}

// a GPU server: the BMC's VGA (ASPEED, `ast`), a network card, and two GPUs listed out of PCI order
const SERVER = fakeSysfs([
  ['0000:03:00.0', '0x030000', 'ast'],
  ['0000:9a:00.0', '0x030200', 'nvidia'],
  ['0000:18:00.0', '0x020000', 'mlx5_core'],
  ['0000:1b:00.0', '0x030200', 'nvidia'],
  ['0000:c3:00.0', '0x030200', null], // no driver bound: no Vulkan device either
]);

function layerDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ql-layers-'));
  mkdirSync(join(d, 'vulkan', 'implicit_layer.d'), { recursive: true });
  writeFileSync(join(d, 'vulkan', 'implicit_layer.d', 'VkLayer_MESA_device_select.json'), '{}');
  return d;
}

describe('--adapter-index', () => {
  it('numbers the GPUs in PCI address order (nvidia-smi\'s), leaving out display chips without a GPU driver', () => {
    expect(pciGpus(SERVER)).toEqual([{ address: '0000:1b:00.0', driver: 'nvidia' }, { address: '0000:9a:00.0', driver: 'nvidia' }]);
    expect(pciGpus(join(SERVER, 'absent'))).toEqual([]);
  });

  it('names a GPU as the device-select layer does (pci-DDDD_BB_DD_F)', () => {
    expect(driPrimeTag('0000:1b:00.0')).toBe('pci-0000_1b_00_0');
    expect(driPrimeTag('0001:C3:1F.7')).toBe('pci-0001_c3_1f_7');
    expect(() => driPrimeTag('1b:00.0')).toThrow(/not a PCI address/);
  });

  it('finds the layer where the Vulkan loader looks (XDG_DATA_DIRS here), and nowhere else', () => {
    const d = layerDir();
    const empty = { HOME: '/nonexistent', XDG_CONFIG_DIRS: '/nonexistent', XDG_DATA_DIRS: '/nonexistent' };
    expect(deviceSelectLayer({ ...empty, XDG_DATA_DIRS: `/nonexistent:${d}` })).toBe(join(d, 'vulkan', 'implicit_layer.d', 'VkLayer_MESA_device_select.json'));
    expect(deviceSelectLayer({ ...empty, VK_ADD_IMPLICIT_LAYER_PATH: join(d, 'vulkan', 'implicit_layer.d') })).not.toBeNull();
    // /etc/vulkan/implicit_layer.d is always searched: only assert "not found" where this machine has no layer there
    if (!deviceSelectLayer({ ...empty })) expect(deviceSelectLayer({ ...empty, XDG_DATA_DIRS: '/tmp' })).toBeNull();
  });

  it('sets the layer\'s selection for GPU K, and refuses an index past the last GPU or a host without the layer', () => {
    const env: NodeJS.ProcessEnv = { XDG_DATA_DIRS: layerDir(), MESA_VK_DEVICE_SELECT: '10de:2330', NODEVICE_SELECT: '1' };
    expect(selectGpu(1, env, SERVER)).toEqual({ address: '0000:9a:00.0', driver: 'nvidia' });
    expect(env).toMatchObject({ DRI_PRIME: 'pci-0000_9a_00_0', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' });
    expect(env.MESA_VK_DEVICE_SELECT).toBeUndefined(); // vendor:device would pick the first of identical cards
    expect(env.NODEVICE_SELECT).toBeUndefined();
    expect(() => selectGpu(2, { ...env }, SERVER)).toThrow(/this host has 2 GPU\(s\) \(0: 0000:1b:00.0, 1: 0000:9a:00.0\); give 0 to 1/);
    expect(() => selectGpu(0, { XDG_DATA_DIRS: '/nonexistent', HOME: '/nonexistent' }, SERVER)).toThrow(/device-select layer .*mesa-vulkan-drivers.*one container per GPU/);
    expect(() => selectGpu(0, env, fakeSysfs([]))).toThrow(/no GPU on its PCI bus/);
  });

  it('reads the adapters Dawn sees from its own list (here: SwiftShader alone)', async () => {
    expect(await visibleAdapters()).toEqual(['SwiftShader Device (Subzero)']);
  });
});
