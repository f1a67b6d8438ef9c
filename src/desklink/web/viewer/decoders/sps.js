// The picture size an H.264 sequence parameter set claims, read before
// WebCodecs sees it: the twin of src/desklink/agent/encode/sps.py (same
// fields, same bounds, same messages).
//
// Why: the VideoDecoder sizes its picture buffers from the stream's SPS
// (NAL type 7), not from the rectangle or from configure(); a malformed or
// hostile unit whose SPS claims 16384x16384 would make it allocate for that.
// checkUnit compares every SPS in an access unit with the size the
// rectangle's stream is coded at first (decoders/h264.js).
//
// Bounded: at most MAX_SPS_PER_UNIT SPS in a unit; emulation-prevention
// bytes (00 00 03) stripped; the fields of ITU-T H.264 7.3.2.1.1 read up to
// the frame cropping. Running past the end of the unit, an exp-Golomb code
// with more than MAX_LEADING_ZEROS leading zeros, a field outside its range
// or a list past its bound throws a FrameError saying which. 00 00 00 and
// 00 00 02 inside an SPS (forbidden; a decoder would end the unit there)
// are refused, so the bits read here are the bits the codec reads.
//
// No DOM: runs in the decoder worker.

import { FrameError } from '../frame-error.js';

export const NAL_SPS = 7;
/** Most SPS units one access unit may carry (the standard's 32 ids). */
export const MAX_SPS_PER_UNIT = 32;
/** Most leading zeros of an exp-Golomb code (values up to 2**32 - 2). */
export const MAX_LEADING_ZEROS = 31;
const MAX_POC_CYCLE = 255;
const MAX_REF_FRAMES = 16;
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

class Bits {
  constructor(data) {
    this.data = data;
    this.pos = 0;
    this.end = data.length * 8;
  }

  u(n, what) {
    if (this.pos + n > this.end) throw new FrameError(`H.264 SPS ends inside ${what}`);
    let value = 0;
    for (let i = 0; i < n; i++) {
      // Multiplication, not shifts: values reach 2**32 - 1.
      value = value * 2 + ((this.data[this.pos >> 3] >> (7 - (this.pos & 7))) & 1);
      this.pos += 1;
    }
    return value;
  }

  flag(what) {
    return this.u(1, what) === 1;
  }

  ue(what, most) {
    let zeros = 0;
    while (this.u(1, what) === 0) {
      zeros += 1;
      if (zeros > MAX_LEADING_ZEROS) throw new FrameError(`H.264 SPS: ${what} has more than ${MAX_LEADING_ZEROS} leading zeros`);
    }
    const value = 2 ** zeros - 1 + this.u(zeros, what);
    if (most !== undefined && value > most) throw new FrameError(`H.264 SPS: ${what} is ${value}, more than ${most}`);
    return value;
  }

  se(what) {
    const k = this.ue(what);
    return k % 2 ? (k + 1) / 2 : -(k / 2);
  }
}

function findStart(p, from) {
  for (let i = from; i + 2 < p.length; i++) {
    if (p[i + 2] > 1) { i += 2; continue; } // no start code can end here or at the next byte
    if (p[i] === 0 && p[i + 1] === 0 && p[i + 2] === 1) return i;
  }
  return -1;
}

/** The SPS NAL units of an Annex B access unit (header byte first, emulation bytes still in), in order. */
export function spsUnits(p) {
  const found = [];
  let i = findStart(p, 0);
  while (i >= 0 && i + 3 < p.length) {
    const start = i + 3;
    const next = findStart(p, start);
    if ((p[start] & 0x1f) === NAL_SPS) {
      if (found.length === MAX_SPS_PER_UNIT) throw new FrameError(`H.264 unit carries more than ${MAX_SPS_PER_UNIT} SPS`);
      let end = next >= 0 ? next : p.length;
      while (end > start && p[end - 1] === 0) end -= 1;
      found.push(p.subarray(start, end));
    }
    i = next;
  }
  return found;
}

function rbsp(nal) {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 1; i < nal.length; i++) {
    const byte = nal[i];
    if (zeros >= 2 && (byte === 0 || byte === 2)) {
      throw new FrameError('H.264 SPS holds a byte sequence the standard forbids (00 00 00 or 00 00 02)');
    }
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

function skipScalingList(b, size, what) {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) {
      const delta = b.se(what);
      if (delta < -128 || delta > 127) throw new FrameError(`H.264 SPS: ${what} has delta_scale ${delta}, outside -128..127`);
      next = (last + delta + 256) % 256;
    }
    last = next !== 0 ? next : last;
  }
}

/**
 * Read one SPS NAL unit (header byte first, as spsUnits gives it):
 * {spsId, profileIdc, levelIdc, chromaFormatIdc, frameMbsOnly, codedWidth, codedHeight, width, height}.
 */
export function readSps(nal) {
  if (!nal.length || (nal[0] & 0x1f) !== NAL_SPS) throw new FrameError('not an H.264 SPS unit');
  const b = new Bits(rbsp(nal));
  const profileIdc = b.u(8, 'profile_idc');
  b.u(8, 'the constraint flags');
  const levelIdc = b.u(8, 'level_idc');
  const spsId = b.ue('seq_parameter_set_id', 31);
  let chroma = 1;
  let separatePlanes = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    chroma = b.ue('chroma_format_idc', 3);
    if (chroma === 3) separatePlanes = b.flag('separate_colour_plane_flag');
    b.ue('bit_depth_luma_minus8', 6);
    b.ue('bit_depth_chroma_minus8', 6);
    b.flag('qpprime_y_zero_transform_bypass_flag');
    if (b.flag('seq_scaling_matrix_present_flag')) {
      for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
        if (b.flag(`seq_scaling_list_present_flag[${i}]`)) skipScalingList(b, i < 6 ? 16 : 64, `scaling list ${i}`);
      }
    }
  }
  b.ue('log2_max_frame_num_minus4', 12);
  const pocType = b.ue('pic_order_cnt_type', 2);
  if (pocType === 0) {
    b.ue('log2_max_pic_order_cnt_lsb_minus4', 12);
  } else if (pocType === 1) {
    b.flag('delta_pic_order_always_zero_flag');
    b.se('offset_for_non_ref_pic');
    b.se('offset_for_top_to_bottom_field');
    const cycle = b.ue('num_ref_frames_in_pic_order_cnt_cycle', MAX_POC_CYCLE);
    for (let i = 0; i < cycle; i++) b.se(`offset_for_ref_frame[${i}]`);
  }
  b.ue('max_num_ref_frames', MAX_REF_FRAMES);
  b.flag('gaps_in_frame_num_value_allowed_flag');
  const widthMbs = b.ue('pic_width_in_mbs_minus1') + 1;
  const heightUnits = b.ue('pic_height_in_map_units_minus1') + 1;
  const frameMbsOnly = b.flag('frame_mbs_only_flag');
  if (!frameMbsOnly) b.flag('mb_adaptive_frame_field_flag');
  b.flag('direct_8x8_inference_flag');
  const codedWidth = 16 * widthMbs;
  const codedHeight = 16 * heightUnits * (frameMbsOnly ? 1 : 2);
  let left = 0, right = 0, top = 0, bottom = 0;
  if (b.flag('frame_cropping_flag')) {
    left = b.ue('frame_crop_left_offset');
    right = b.ue('frame_crop_right_offset');
    top = b.ue('frame_crop_top_offset');
    bottom = b.ue('frame_crop_bottom_offset');
  }
  // Crop units (the standard's CropUnitX / CropUnitY, table 6-1).
  const unitX = chroma === 0 || separatePlanes || chroma === 3 ? 1 : 2;
  const unitY = (chroma === 1 && !separatePlanes ? 2 : 1) * (frameMbsOnly ? 1 : 2);
  const width = codedWidth - unitX * (left + right);
  const height = codedHeight - unitY * (top + bottom);
  if (width < 1 || height < 1) throw new FrameError(`H.264 SPS crops its ${codedWidth}x${codedHeight} picture to nothing`);
  return { spsId, profileIdc, levelIdc, chromaFormatIdc: chroma, frameMbsOnly, codedWidth, codedHeight, width, height };
}

/** The sizes a width x height stream's SPS must give: whole macroblocks, cropped to exactly width x height. */
export function expectedSizes(width, height) {
  return { codedWidth: Math.ceil(width / 16) * 16, codedHeight: Math.ceil(height / 16) * 16, width, height };
}

/**
 * Every SPS in the unit must give a width x height picture in the fewest
 * whole macroblocks; a FrameError naming the claimed size otherwise.
 * Returns the SPS read.
 */
export function checkUnit(p, width, height, what = 'H.264 unit') {
  let found;
  try {
    found = spsUnits(p).map(readSps);
  } catch (err) {
    throw new FrameError(`${what}: ${err.message}`);
  }
  const want = expectedSizes(width, height);
  for (const s of found) {
    if (s.codedWidth !== want.codedWidth || s.codedHeight !== want.codedHeight || s.width !== width || s.height !== height) {
      throw new FrameError(
        `${what}: its SPS claims a ${s.width}x${s.height} picture (${s.codedWidth}x${s.codedHeight} coded); `
        + `the stream is ${width}x${height} (${want.codedWidth}x${want.codedHeight} coded)`,
      );
    }
  }
  return found;
}
